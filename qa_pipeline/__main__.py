from qa_pipeline.cli import main

raise SystemExit(main())
