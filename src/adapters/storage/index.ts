// Storage drivers (src/ports/storage.ts): DRBD 9 (drbd.ts). Ceph RBD is planned.
export { DrbdStorage, parseDrbdStatus, type DrbdState, type DrbdStorageOptions, type FencedPeerRecord } from './drbd.js';
