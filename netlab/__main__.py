from netlab.cli import main; import sys; sys.exit(main())
