from msuinspect.cli import run

run()
