/* ucl.c: being written */
