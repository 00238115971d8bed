export * from './errors.ts';
export * from './messages.ts';
export * from './parse.ts';
export * from './audio.ts';
export * from './frame.ts';
export * from './topics.ts';
