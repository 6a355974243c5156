import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** Reserves a session id in an environment, so a client can name it before the first prompt. */
export class CreateSessionDto {
  /** The environment the session belongs to, e.g. `dev`. */
  @IsString()
  @MinLength(1)
  env!: string;

  /** A title for session lists; without it, lists show the first prompt. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  title?: string;
}

/** A reserved session: pass `sessionId` to the first execute call to start it. */
export class CreatedSessionDto {
  /** A fresh UUID v4. */
  sessionId!: string;

  /** The environment it belongs to. */
  env!: string;

  /** ISO time of the reservation. */
  createdAt!: string;

  /** The title given, or null. */
  title!: string | null;
}
