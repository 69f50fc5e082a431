// The guest toolchain: build .S/.s/.c guests for a CPU mode and report located diagnostics.
export * from './modes';
export * from './package-root';
export * from './linker-scripts';
export * from './diagnostics';
export * from './process';
export * from './tools';
export * from './build';
export * from './input-files';
