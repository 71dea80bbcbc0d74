/* keys.c: being written */
