"""learning record

learning_plays: every play of a chapter (学习记录): start, last beacon, seconds credited,
presence checks passed and missed, device and address; written by the progress flusher.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('learning_plays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('chapter_id', sa.Integer(), nullable=False),
    sa.Column('play_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('credited_seconds', sa.Integer(), nullable=False),
    sa.Column('checks_passed', sa.Integer(), nullable=False),
    sa.Column('checks_missed', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.CheckConstraint('credited_seconds >= 0', name=op.f('ck_learning_plays_credited_not_negative')),
    sa.ForeignKeyConstraint(['chapter_id'], ['chapters.id'], name=op.f('fk_learning_plays_chapter_id_chapters')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_learning_plays_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_plays')),
    sa.UniqueConstraint('trainee_id', 'chapter_id', 'play_id', 'started_at', name='uq_learning_plays_play')
    )
    with op.batch_alter_table('learning_plays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learning_plays_chapter_id'), ['chapter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_learning_plays_ended_at'), ['ended_at'], unique=False)
        batch_op.create_index('ix_learning_plays_trainee_chapter', ['trainee_id', 'chapter_id'], unique=False)


def downgrade():
    with op.batch_alter_table('learning_plays', schema=None) as batch_op:
        batch_op.drop_index('ix_learning_plays_trainee_chapter')
        batch_op.drop_index(batch_op.f('ix_learning_plays_ended_at'))
        batch_op.drop_index(batch_op.f('ix_learning_plays_chapter_id'))

    op.drop_table('learning_plays')
