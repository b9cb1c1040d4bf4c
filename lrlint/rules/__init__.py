"""Rule implementations, one module each; `lrlint.registry` lists them and their names."""
