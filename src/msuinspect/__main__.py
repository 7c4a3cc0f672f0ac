from msuinspect.cli import main

main()
