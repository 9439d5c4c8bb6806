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

      # pkgs.tsha, for configurations that take their packages from an overlay
      overlays.default = final: _prev: {
        tsha = final.callPackage ./nixos-module/package.nix { src = self; };
      };

      # services.tsha, with the package defaulting to this flake's.
      nixosModules.default = { lib, pkgs, ... }: {
        imports = [ ./nixos-module/default.nix ];
        services.tsha.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      # what `npm ci && npm test` needs (nix-instantiate for the module's tests)
      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell { packages = [ pkgs.nodejs_24 pkgs.nix ]; };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);

      checks = forAllSystems (pkgs:
        let tsha = self.packages.${pkgs.stdenv.hostPlatform.system}.default; in
        {
          # The shipped examples pass tsha's own checker.
          examples = pkgs.runCommand "tsha-examples-check" { nativeBuildInputs = [ tsha ]; } ''
            for f in ${./examples}/*.json; do
              case "$f" in *invalid.json) continue ;; esac
              tsha config check "$f"
            done
            touch $out
          '';
          # The module on a real NixOS evaluation: examples/nixos/two-node-witness.nix on node alpha,
          # its configuration file built (and so checked by tsha config check).
          module = (nixpkgs.lib.nixosSystem {
            modules = [
              { nixpkgs.hostPlatform = pkgs.stdenv.hostPlatform.system; }
              self.nixosModules.default
              ./examples/nixos/two-node-witness.nix
              { networking.hostName = "alpha"; boot.isContainer = true; system.stateVersion = "26.05"; }
            ];
          }).config.environment.etc."tsha/config.json".source;
          package = tsha;
        });
    };
}
