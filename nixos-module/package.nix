# The tsha package, built from this repository with nixpkgs' buildNpmPackage: the npm dependencies
# come from package-lock.json through importNpmLock (each fetched by its own integrity hash, so no
# npmDepsHash to keep in step with the lock file), then `npm run build`; the command is
# bin/tsha → dist/src/cli/main.js, run by Node.js 24 (the active LTS line).
{ lib, buildNpmPackage, importNpmLock, nodejs_24, src }:
buildNpmPackage {
  pname = "tsha";
  version = (lib.importJSON "${src}/package.json").version;
  inherit src;
  nodejs = nodejs_24;
  npmDeps = importNpmLock { npmRoot = src; };
  npmConfigHook = importNpmLock.npmConfigHook;
  npmBuildScript = "build";
  meta = {
    description = "High-availability failover agent for NixOS clusters (a Pacemaker alternative)";
    license = lib.licenses.mit;
    mainProgram = "tsha";
    platforms = lib.platforms.linux;
  };
}
