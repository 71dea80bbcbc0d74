/*
 * fsutil.h - small blocking file helpers for worker threads and start-up.
 */
#ifndef STERNA_UTIL_FSUTIL_H
#define STERNA_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/buf.h"

/* Writes all n bytes, retrying short writes and EINTR: 0, or -1 with errno. */
int write_all(int fd, const void *p, size_t n);
/* Reads up to n bytes at offset off, retrying short reads: the count read, or -1. */
ssize_t pread_all(int fd, void *p, size_t n, off_t off);
/*
 * Renames from (in from_dirfd) to to (in to_dirfd) only if to does not
 * exist: 0, or -1 with errno, EEXIST when it does (and then neither name
 * changed). renameat2(RENAME_NOREPLACE) where the file system has it; where
 * it has not (EINVAL: NFS, many FUSE file systems), a hard link, which fails
 * on an existing name too, then the removal of from (which stays as a
 * second name if it cannot be removed). A file system with neither
 * refuses: -1 with renameat2's EINVAL.
 */
int rename_noreplace(int from_dirfd, const char *from, int to_dirfd, const char *to);
/* fsyncs the directory at path: 0, or -1 with errno. */
int fsync_dir(const char *path);
/*
 * Creates path and its missing parents with mode (exactly, whatever the
 * umask), each made durable in its parent (fsync of the parent) before the
 * next: 0, or -1 with errno. Folders that exist are left as they are.
 */
int mkdir_p(const char *path, mode_t mode);
/*
 * Reads the regular file at path whole, appending to b, with its fstat in
 * *st. Opened O_NONBLOCK, so that a FIFO put in a file's place cannot hang
 * the caller (the loop reads list and key files). Returns 0; -1 with why
 * (the errno's text, "not a regular file"); -2 when it holds more than
 * b->max bytes (b then holds the first ones, *st the file's).
 */
int fs_read_file(const char *path, struct buf *b, struct stat *st, char *why, size_t whysize);

#endif
