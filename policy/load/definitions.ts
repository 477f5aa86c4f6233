/**
 * The naming sections: `groups`, `tagOwners` and `hosts`. Names are collected first so that
 * references may point anywhere in the file; members are then checked against them.
 */
import type { JsonNode } from '../hujson.ts';
import { parsePrefix } from '../../protocol/ip/prefix.ts';
import type { GroupDefinition, HostDefinition, TagDefinition } from '../model.ts';
import {
  HOST_NAME,
  isGroupName,
  isTagName,
  isUser,
  looksLikeAddress,
  parseSelector,
  type SelectorScope,
} from '../selector.ts';
import type { LoadContext } from './context.ts';

export interface Definitions extends SelectorScope {
  groups: Map<string, GroupDefinition>;
  tags: Map<string, TagDefinition>;
  hosts: Map<string, HostDefinition>;
}

/** Names only, members filled by `loadDefinitionBodies`. */
export function loadDefinitionNames(ctx: LoadContext, sections: Map<string, JsonNode>): Definitions {
  const defs: Definitions = { groups: new Map(), tags: new Map(), hosts: new Map() };
  const groups = sections.get('groups');
  if (groups && ctx.isObject(groups, 'groups')) {
    for (const { name, key } of ctx.entries(groups, 'groups')) {
      if (!isGroupName(name)) {
        ctx.report('policy.invalid_name', `"${name}" is not a group name: write group:NAME`, key);
        continue;
      }
      defs.groups.set(name, { name, at: ctx.at(key), users: [], idpGroups: [], groups: [] });
    }
  }
  const tags = sections.get('tagOwners');
  if (tags && ctx.isObject(tags, 'tagOwners')) {
    for (const { name, key } of ctx.entries(tags, 'tagOwners')) {
      if (!isTagName(name)) {
        ctx.report(
          'policy.invalid_name',
          `"${name}" is not a tag name: write tag: then a letter, then letters, digits or "-"`,
          key,
        );
        continue;
      }
      defs.tags.set(name, { name, at: ctx.at(key), owners: [] });
    }
  }
  const hosts = sections.get('hosts');
  if (hosts && ctx.isObject(hosts, 'hosts')) {
    for (const { name, key, value } of ctx.entries(hosts, 'hosts')) {
      if (!HOST_NAME.test(name) || looksLikeAddress(name)) {
        ctx.report(
          'policy.invalid_name',
          `"${name}" is not a host name: lowercase letters, digits, ".", "_" or "-", not an address`,
          key,
        );
        continue;
      }
      const text = ctx.string(value, `host "${name}"`);
      if (!text) continue;
      const p = parsePrefix(text.value);
      if (!p.ok) {
        ctx.report('policy.invalid_prefix', `host "${name}": ${p.error.message}`, value);
        continue;
      }
      defs.hosts.set(name, { name, at: ctx.at(key), text: text.value, prefix: p.value });
    }
  }
  return defs;
}

export function loadDefinitionBodies(ctx: LoadContext, sections: Map<string, JsonNode>, defs: Definitions): void {
  const groups = sections.get('groups');
  if (groups?.type === 'object') {
    for (const { name, value } of ctx.entries(groups, 'groups')) {
      const group = defs.groups.get(name);
      if (!group) continue;
      for (const member of ctx.strings(value, `members of ${name}`)) {
        const m = member.value;
        if (m.startsWith('idp:')) {
          if (m.length === 4)
            ctx.report(
              'policy.invalid_selector',
              `${name}: "idp:" needs the identity provider's group name`,
              member.node,
            );
          else group.idpGroups.push(m.slice(4));
        } else if (m.startsWith('group:')) {
          if (!defs.groups.has(m))
            ctx.report('policy.unknown_group', `${name}: group "${m}" is not defined in groups`, member.node);
          else group.groups.push(m);
        } else if (isUser(m)) {
          group.users.push(m);
        } else {
          ctx.report(
            'policy.invalid_selector',
            `${name}: "${m}" is not a group member: use a user (name@domain), idp:GROUP or group:NAME`,
            member.node,
          );
        }
      }
    }
  }
  const tags = sections.get('tagOwners');
  if (tags?.type === 'object') {
    for (const { name, value } of ctx.entries(tags, 'tagOwners')) {
      const tag = defs.tags.get(name);
      if (!tag) continue;
      for (const owner of ctx.strings(value, `owners of ${name}`)) {
        const r = parseSelector(owner.value, defs);
        if (!r.ok) {
          ctx.report(r.code, `owners of ${name}: ${r.message}`, owner.node);
          continue;
        }
        const k = r.selector.kind;
        if (k === 'user' || k === 'group' || k === 'tag' || (k === 'autogroup' && r.selector.name === 'member')) {
          tag.owners.push({ value: r.selector, at: owner.at });
        } else {
          ctx.report(
            'policy.invalid_selector',
            `owners of ${name}: "${owner.value}" cannot own a tag: use users, groups, tags or autogroup:member`,
            owner.node,
          );
        }
      }
    }
  }
}
