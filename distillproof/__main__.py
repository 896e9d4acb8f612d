from distillproof.checker.cli import main

main()
