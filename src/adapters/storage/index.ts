// Storage drivers (src/ports/storage.ts): Ceph RBD through the rbd and ceph tools. See rbd.ts.
export { RbdStorage, addressIp, parseBlocklist, parseLocks, parseWatchers, type RbdStorageOptions } from './rbd.js';
