// The debug adapter executable's entry (bundled to dist/debug-adapter.js).
import { serveDap } from './dap-main';

serveDap();
