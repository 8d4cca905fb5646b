/**
 * Reads the customer's F&O model from `GET /data/$metadata`, streamed through the CSDL reader
 * (never the whole document in memory), keeping the entity sets the connector uses.
 */
import { ConnectorError } from '#base/errors.ts';
import { ENTITIES } from '#core/ports/dynamics/entities.ts';
import type { DynamicsClient } from './client.ts';
import { type CsdlModel, type CsdlPass, readCsdl, readCsdlPass } from './metadata-csdl.ts';

/** The entity sets the connector uses: the ones it declares. */
export const CONNECTOR_ENTITY_SETS: readonly string[] = Object.freeze(Object.keys(ENTITIES));

/** Streams `$metadata` once (twice when an entity type's name was not guessed) and returns the kept model. */
export async function fetchCsdlModel(
  client: Pick<DynamicsClient, 'streamMetadata'>,
  entitySets: readonly string[] = CONNECTOR_ENTITY_SETS,
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<CsdlModel> {
  return readCsdl(
    async (wanted) => {
      let pass: CsdlPass | undefined;
      await client.streamMetadata(
        async (body) => {
          pass = await readCsdlPass(body, wanted);
        },
        { signal: options.signal },
      );
      if (!pass) throw new ConnectorError('$metadata: the response had no body', { code: 'BAD_METADATA' });
      return pass;
    },
    { entitySets },
  );
}
