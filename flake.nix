{
  description = "tsha: high-availability failover agent for NixOS clusters";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        tsha = pkgs.callPackage ./nixos-module/package.nix { src = self; };
        default = tsha;
      });

      # services.tsha, with the package defaulting to this flake's.
      nixosModules.default = { lib, pkgs, ... }: {
        imports = [ ./nixos-module/default.nix ];
        services.tsha.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      # The shipped examples pass tsha's own checker.
      checks = forAllSystems (pkgs: {
        examples = pkgs.runCommand "tsha-examples-check" { nativeBuildInputs = [ self.packages.${pkgs.stdenv.hostPlatform.system}.default ]; } ''
          for f in ${./examples}/*.json; do
            case "$f" in *invalid.json) continue ;; esac
            tsha config check "$f"
          done
          touch $out
        '';
      });
    };
}
