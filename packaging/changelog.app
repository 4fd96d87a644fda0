node-pair (0.1.0) unstable; urgency=medium

  * First package, built by Tauri's bundler from scripts/package.sh.

 -- NodePair developers <nodepair@users.noreply.github.com>  Mon, 07 Dec 2026 12:00:00 +0000
