from outlayer.cli import main

raise SystemExit(main())
