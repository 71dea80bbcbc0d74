/* reply.c: being written */
