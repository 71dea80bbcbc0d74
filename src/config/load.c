/* load.c: being written */
