/* record.c: being written */
