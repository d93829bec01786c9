from nuanxin.cli import main

main()
