/*
 * privdrop.h - giving up root at start (privdrop.c), once the ports are
 * bound and the files only root may read are read.
 */
#ifndef STERNA_MAIN_PRIVDROP_H
#define STERNA_MAIN_PRIVDROP_H

struct config;

/*
 * Makes the spool, the mailbox root and the maildrop of c and gives them
 * to server.user, then becomes that user for good (started as root with
 * server.user set; otherwise the folders are only made, with a warning
 * when running as root). 0, or -1 after logging why.
 */
int privdrop(const struct config *c);

#endif
