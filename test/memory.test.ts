import { MemoryStore } from '../src/store/memory/index.ts';
import { runConformance } from './conformance/index.ts';

runConformance({ makeStore: () => Promise.resolve(new MemoryStore()) });
