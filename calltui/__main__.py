"""python -m calltui"""

from calltui.cli import main

main()
