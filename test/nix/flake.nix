# The repository's flake.nix, its outputs evaluated against a stand-in nixpkgs: nixpkgs' real lib,
# lib.nixosSystem as lib.evalModules with the stand-in NixOS options (nixos-stubs.nix,
# service-stubs.nix) and pkgs (pkgs.nix), buildNpmPackage and runNixOSTest returning what they
# are given. What this shows: the outputs are wired (the module gets the flake's package, every
# example machine's check evaluates its assertions), not that anything builds.
#   lib: nixpkgs' lib (../shared/nixpkgs-lib/lib)
{ lib }:
let
  flake = import ../../flake.nix;
  stubPkgs = import ./pkgs.nix;
  pkgsFor = system: stubPkgs // {
    inherit lib;
    stdenv.hostPlatform.system = system;
    callPackage = fn: args: import fn ({
      inherit lib;
      buildNpmPackage = a: { type = "derivation"; name = "${a.pname}-${a.version}"; outPath = "/nix/store/stub-${a.pname}-${a.version}"; buildNpmPackageArgs = a; };
      importNpmLock = { __functor = _: a: { npmRoot = toString a.npmRoot; }; npmConfigHook = "importNpmLock.npmConfigHook"; };
      nodejs_24 = "nodejs_24";
    } // args);
    testers.runNixOSTest = test: { inherit test; };
    mkShell = a: a;
    nixfmt = "nixfmt";
    nodejs_24 = "nodejs_24";
    nix = "nix";
    runCommand = name: env: script: stubPkgs.runCommand name env script;
  };
  nixpkgs = {
    lib = lib // {
      nixosSystem = { modules }: lib.evalModules {
        modules = modules ++ [
          ./nixos-stubs.nix
          ./service-stubs.nix
          ({ config, ... }: {
            # nixos/modules/misc/nixpkgs.nix, boot.isContainer, system.stateVersion
            options.nixpkgs.hostPlatform = lib.mkOption { type = lib.types.str; };
            options.boot.isContainer = lib.mkOption { type = lib.types.bool; default = false; };
            options.system.stateVersion = lib.mkOption { type = lib.types.str; };
            config._module.args.pkgs = pkgsFor config.nixpkgs.hostPlatform;
          })
        ];
      };
    };
    legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] pkgsFor;
  };
  self = flake.outputs { inherit self nixpkgs; } // { outPath = toString ../..; };
in
self
