"""The pure core: plain dataclasses and functions, standard library only, no I/O, no clock reads."""
