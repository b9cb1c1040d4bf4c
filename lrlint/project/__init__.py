"""Project resolution: the modules of the project a checked file imports, found as Python would
find them (`layout`), and parsed on demand, once per run (`modules`)."""
