# A stand-in for nixpkgs' pkgs, enough to evaluate nixos-module/ (no store, no builds): packages
# are derivation-shaped attribute sets (types.package accepts them, they interpolate as store
# paths), and writeText / runCommand keep what they were given so a test can read the JSON and
# the build script.
let
  package = name: { type = "derivation"; inherit name; outPath = "/nix/store/stub-${name}"; };
in
{
  writeText = name: text: package name // { inherit text; };
  writeTextDir = path: text: package (baseNameOf path) // { inherit text; };
  # passthru attributes end up on the derivation itself, as with mkDerivation
  runCommand = name: env: buildCommand: package name // builtins.removeAttrs env [ "passthru" ] // (env.passthru or { }) // { inherit buildCommand; };
  tsha = package "tsha";
  systemd = package "systemd";
  coreutils = package "coreutils";
  iproute2 = package "iproute2";
  iputils = package "iputils";
  lxc = package "lxc";
  ocf-resource-agents = package "ocf-resource-agents";
  fence-agents = package "fence-agents";
  curl = package "curl";
  python3 = package "python3";
  prometheus = package "prometheus" // { cli = package "prometheus-cli"; };
}
