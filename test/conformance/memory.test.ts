import { runConformance } from '../../src/conformance/index.ts';
import { MemoryStore } from '../../src/store/memory/index.ts';

runConformance({ name: 'memory', makeStore: () => new MemoryStore() });
