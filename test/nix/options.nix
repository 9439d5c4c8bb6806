# Every option of services.tsha as declared by nixos-module/options.nix, flattened through
# submodules (lib.types' getSubOptions, as the NixOS manual does): its location, description and
# default (the module system's own _module options left out), as plain data for test/unit/config/generated.test.ts.
{ lib }:
let
  eval = lib.evalModules { modules = [ ../../nixos-module/options.nix ./nixos-stubs.nix { _module.args.pkgs = import ./pkgs.nix; } ]; };
  flatten = tree: lib.concatMap (o:
    [ ({ inherit (o) loc description; } // lib.optionalAttrs (o ? default) { inherit (o) default; }) ]
    ++ flatten (o.type.getSubOptions o.loc)
  ) (builtins.filter (o: !(builtins.elem "_module" o.loc)) (lib.collect lib.isOption tree));
in
flatten eval.options.services.tsha
