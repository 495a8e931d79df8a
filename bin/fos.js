#!/usr/bin/env node
// The installed entry point: the compiled program lives in dist/ (built by `npm install`).
import { main } from '../dist/src/cli/main.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
