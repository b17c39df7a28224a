from multiberts_stats.cli import main

raise SystemExit(main())
