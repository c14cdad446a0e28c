import { vitestPreset } from '../../vitest.preset.js';

export default vitestPreset();
