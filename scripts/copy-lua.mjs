#!/usr/bin/env node
// tsc copies no .lua: the Redis store reads its scripts next to its compiled modules.
import { cpSync } from 'node:fs';

cpSync('src/store/redis/lua', 'dist/store/redis/lua', { recursive: true });
