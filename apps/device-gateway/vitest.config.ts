import { vitestPreset } from '../../vitest.preset.js';

// Integration tests start their own Service Bus emulator (in process) and real TCP connections: longer timeouts.
export default vitestPreset({ testTimeout: 30_000, hookTimeout: 30_000 });
