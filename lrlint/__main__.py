from lrlint.cli import main

main()
