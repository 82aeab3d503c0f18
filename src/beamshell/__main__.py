from beamshell.shell.cli import main

raise SystemExit(main())
