import { Injectable } from '@nestjs/common';
import { Statement } from 'better-sqlite3';
import { DatabaseService } from '../store/database.service';

/** A session id handed out before the CLI has written anything for it. */
export interface SessionReservation {
  id: string;
  env: string;
  title: string | null;
  createdAt: string;
}

interface SessionRow {
  id: string;
  env: string;
  title: string | null;
  created_at: string;
}

/** The `sessions` table: reserved ids and their titles, per environment. */
@Injectable()
export class SessionReservations {
  private readonly insert: Statement<[string, string, string | null, string]>;
  private readonly selectOne: Statement<[string, string], SessionRow>;
  private readonly selectByEnv: Statement<[string], SessionRow>;
  private readonly deleteOne: Statement<[string, string]>;

  constructor(database: DatabaseService) {
    const { db } = database;
    this.insert = db.prepare(
      'INSERT INTO sessions (env, id, title, created_at) VALUES (?, ?, ?, ?)',
    );
    this.selectOne = db.prepare('SELECT * FROM sessions WHERE env = ? AND id = ?');
    this.selectByEnv = db.prepare('SELECT * FROM sessions WHERE env = ?');
    this.deleteOne = db.prepare('DELETE FROM sessions WHERE env = ? AND id = ?');
  }

  create(env: string, id: string, title: string | null): SessionReservation {
    const createdAt = new Date().toISOString();
    this.insert.run(env, id, title, createdAt);
    return { id, env, title, createdAt };
  }

  find(env: string, id: string): SessionReservation | null {
    const row = this.selectOne.get(env, id);
    return row ? toReservation(row) : null;
  }

  listForEnv(env: string): SessionReservation[] {
    return this.selectByEnv.all(env).map(toReservation);
  }

  /** True when there was one to delete. */
  delete(env: string, id: string): boolean {
    return this.deleteOne.run(env, id).changes > 0;
  }
}

function toReservation(row: SessionRow): SessionReservation {
  return { id: row.id, env: row.env, title: row.title, createdAt: row.created_at };
}
