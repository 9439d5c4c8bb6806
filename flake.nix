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
        let
          inherit (nixpkgs) lib;
          tsha = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
          # One machine of a NixOS example as a real NixOS system: its assertions must hold, and its
          # configuration file is built (and so checked by tsha config check).
          exampleMachine = file: hostName:
            let
              system = nixpkgs.lib.nixosSystem {
                modules = [
                  { nixpkgs.hostPlatform = pkgs.stdenv.hostPlatform.system; }
                  self.nixosModules.default
                  file
                  { networking.hostName = hostName; boot.isContainer = true; system.stateVersion = "26.05"; }
                ];
              };
              failed = map (a: a.message) (builtins.filter (a: !a.assertion) system.config.assertions);
            in
            if failed != [ ] then throw "${toString file} on ${hostName}:\n- ${lib.concatStringsSep "\n- " failed}"
            else system.config.environment.etc."tsha/config.json".source;
          # every example of examples/nixos/ on every one of its machines
          nixosExamples = {
            two-node-witness = [ "alpha" "beta" "nas" ];
            three-node-vip = [ "n1" "n2" "n3" ];
          };
        in
        {
          # The shipped JSON examples pass tsha's own checker.
          examples = pkgs.runCommand "tsha-examples-check" { nativeBuildInputs = [ tsha ]; } ''
            for f in ${./examples}/*.json; do
              case "$f" in *invalid.json) continue ;; esac
              tsha config check "$f"
            done
            touch $out
          '';
          package = tsha;
          # A whole cluster in VMs (nixos-module/tests/failover.nix): the node that runs the
          # virtual IP and the service is powered off, and they run on exactly one survivor.
          failover-majority = pkgs.testers.runNixOSTest (import ./nixos-module/tests/failover.nix { tshaModule = self.nixosModules.default; });
          failover-witness = pkgs.testers.runNixOSTest (import ./nixos-module/tests/failover.nix { tshaModule = self.nixosModules.default; witness = true; });
        }
        // lib.listToAttrs (lib.concatLists (lib.mapAttrsToList (example: hostNames:
          map (hostName: lib.nameValuePair "example-${example}-${hostName}" (exampleMachine ./examples/nixos/${example}.nix hostName)) hostNames)
          nixosExamples)));
    };
}
