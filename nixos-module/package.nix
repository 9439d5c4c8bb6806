# The tsha package, built from this repository with nixpkgs' buildNpmPackage (npm ci, then
# `npm run build`; the command is bin/tsha → dist/src/cli/main.js).
# npmDepsHash: nixpkgs could not be reached where this file was written, so the hash of the npm
# dependencies is not known yet: build once and replace lib.fakeHash with the hash Nix prints.
{ lib, buildNpmPackage, nodejs_20, src, npmDepsHash ? lib.fakeHash }:
buildNpmPackage {
  pname = "tsha";
  version = "0.1.0";
  inherit src npmDepsHash;
  nodejs = nodejs_20;
  npmBuildScript = "build";
  meta = {
    description = "High-availability failover agent for NixOS clusters (a Pacemaker alternative)";
    license = lib.licenses.mit;
    mainProgram = "tsha";
    platforms = lib.platforms.linux;
  };
}
