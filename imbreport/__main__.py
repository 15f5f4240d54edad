"""``python -m imbreport`` runs the command-line interface."""

from imbreport.cli import main

if __name__ == "__main__":
    main()
