// Entry point of dist/language-server.js: `node dist/language-server.js --stdio`.
import { serveLsp } from './server-main';

serveLsp();
