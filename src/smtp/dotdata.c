/* dotdata.c: being written */
