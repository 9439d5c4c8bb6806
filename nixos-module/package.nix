# The tsha package, built from this repository with nixpkgs' buildNpmPackage: the npm dependencies
# come from package-lock.json through importNpmLock (each fetched by its own integrity hash, so no
# npmDepsHash to keep in step with the lock file), then `npm run build`; the command is
# bin/tsha → dist/src/cli/main.js, run by Node.js 24 (the active LTS line).
#
# No dependency's install script runs (npm rebuild --ignore-scripts). The only ones in the lock
# file: dbus-next's optional `usocket`, whose `node-gyp rebuild` runs the node-gyp 7 it brings
# along, which crashes on current Node ("Cannot assign to read only property 'cflags'"); protobufjs'
# postinstall, which only warns about version schemes; esbuild's, for the dev tools (tsx, vitest)
# the build does not use. Optional dependencies are then pruned from the output with the dev ones:
# usocket is the only one (93 packages with its node-gyp), and without it dbus-next connects to
# the system bus with Node's own net module, as it does in every test of the agent.
# scripts/check-package.sh runs these same npm steps offline (npm run check:package).
{ lib, buildNpmPackage, importNpmLock, nodejs_24, src }:
buildNpmPackage {
  pname = "tsha";
  version = (lib.importJSON "${src}/package.json").version;
  inherit src;
  nodejs = nodejs_24;
  npmDeps = importNpmLock { npmRoot = src; };
  npmConfigHook = importNpmLock.npmConfigHook;
  npmRebuildFlags = [ "--ignore-scripts" ];
  npmBuildScript = "build";
  # npm pack (the install step's list of files) would run the prepare script, a second tsc
  npmPackFlags = [ "--ignore-scripts" ];
  npmPruneFlags = [ "--omit=optional" ];
  meta = {
    description = "High-availability failover agent for NixOS clusters (a Pacemaker alternative)";
    license = lib.licenses.mit;
    mainProgram = "tsha";
    platforms = lib.platforms.linux;
  };
}
