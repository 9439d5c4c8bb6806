// Public surface of the gRPC adapters: the wire contracts' loader and codecs, the mesh transport
// (peer to peer), and the control socket (CLI to agent).
export {
  codec, CONTROL_PACKAGE, MESH_PACKAGE, messageTypes, ProtoDecodeError, ProtoEncodeError, protoDir, protoRoot,
  rawServiceDefinition, type Codec,
} from './proto.js';
export {
  hostOf, MeshConfigError, MeshTransport, peerIp, type MeshPeer, type MeshTlsOptions, type MeshTransportOptions,
} from './mesh-transport.js';
export { meshOptionsFromConfig, resolveMeshAddress, type Lookup, type MeshDeps } from './mesh-config.js';
export { ControlServer, ControlSocketError, resolveGroup, type ControlServerOptions } from './control-server.js';
export {
  AgentUnreachableError, ControlClient, ControlRequestError, DEFAULT_CONTROL_SOCKET, type ControlClientOptions,
} from './control-client.js';
