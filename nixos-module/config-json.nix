# services.tsha → the attribute set written as tsha's JSON configuration. Only the options that
# mirror the JSON (generated-options.nix: jsonKeys) are taken; the witness becomes null when
# neither its name nor its address is set. Kept apart from default.nix so a test can evaluate it
# without nixpkgs.
{ jsonKeys }:
cfg:
let
  picked = builtins.listToAttrs (map (name: { inherit name; value = cfg.${name}; }) jsonKeys);
  witness = builtins.removeAttrs cfg.witness [ "enable" ];
  noWitness = witness.name == null && witness.address == null;
in
picked // { witness = if noWitness then null else witness; }
