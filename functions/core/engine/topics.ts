/** The Pub/Sub CDC channels the enabled flows need: defined with the flows in wiring.ts. */
export { cdcTopics } from './wiring.ts';
