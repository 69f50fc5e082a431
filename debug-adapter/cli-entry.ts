// The `kvm-guest` executable (bundled to dist/cli.js; bin/kvm-guest.js and the extension run it).
import { main } from './cli';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`kvm-guest: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
